/** The PostgreSQL half of the emulator: TLS front door, certificates, and the PGlite / upstream session storages. */
export { type Certificates, ensureCertificates } from './certs.js';
export { type FrontDoor, type FrontDoorOptions, type FrontDoorStats, startFrontDoor } from './front-door.js';
export { createPgliteStorage, PgliteStorage, type PgliteStorageOptions } from './pglite-storage.js';
export {
  type Logger,
  type SessionRequest,
  type SessionStorage,
  StorageError,
  type StorageSession,
} from './storage.js';
export { createUpstreamStorage, UpstreamStorage, type UpstreamStorageOptions } from './upstream-storage.js';
