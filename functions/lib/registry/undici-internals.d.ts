// The undici modules http-agent.ts loads by path (undici has no `exports` map: Node resolves
// them as files). Their types are the public entry's.
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';

  const agent: typeof Agent;
  export default agent;
}
declare module 'undici/lib/dispatcher/dispatcher.js' {
  const dispatcher: { prototype: object };
  export default dispatcher;
}
declare module 'undici/lib/api/index.js' {
  const api: object;
  export default api;
}
