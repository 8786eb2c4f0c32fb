/** Tells the Workers types what this Worker's main module and bindings are (what `wrangler types` would generate). */
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import('./index.ts');
  }
  interface Env extends import('./config/env.ts').BrokerEnv {}
}
