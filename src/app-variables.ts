/** Per-request values set by middleware and read by routes. */
export interface AppVariables {
  requestId: string;
}
