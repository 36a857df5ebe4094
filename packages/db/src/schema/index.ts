export { conversationMembers, conversations, devices, users } from './directory.js';
export { messages } from './messages.js';
export { workspaceMembers, workspaces } from './workspaces.js';
export { files } from './files.js';
export { changeLog, streamHeads } from './change-log.js';
