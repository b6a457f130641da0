// Typha's sockets: the server and the agent's client.
export { TyphaServer, type TyphaServerOptions } from './typha-server.ts';
export { TyphaClient, typhaUpdateSource, type TyphaClientOptions } from './typha-client.ts';
