/**
 * The PostgreSQL wire protocol as one module for the toolkit's `pgWire` namespace: framing and builders
 * (wire-protocol.ts) and the server side of the first packets (wire-startup.ts).
 */
export * from './wire-protocol.js';
export * from './wire-startup.js';
