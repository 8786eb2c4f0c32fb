#!/usr/bin/env node
/** CDK entry point (cdk.json runs it with tsx). Configuration comes from context: see ../lib/app.ts. */
import { buildApp } from '../lib/app.ts';

buildApp().app.synth();
