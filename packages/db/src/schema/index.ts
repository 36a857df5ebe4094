export { conversationMembers, conversations, devices, readReceipts, users } from './directory.js';
export { messages } from './messages.js';
export { workspaceMembers, workspaces } from './workspaces.js';
export { files } from './files.js';
export { fileContents, syncFiles, workspaceContents } from './sync-files.js';
export { changeLog, streamHeads } from './change-log.js';
export { changeTailPositions, webhookDeliveries, webhookEndpoints } from './background.js';
