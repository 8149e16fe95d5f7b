export { evaluateWindows, isActive, openingsBetween, syncAllowed, toSyncWindow, waitingReason, windowsFor, type WindowVerdict } from './evaluate.js';
export { syncWindowSchema, type SyncWindow, type SyncWindowInput } from './model.js';
export { parseCron } from './cron.js';
