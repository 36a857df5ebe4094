export { conversationMembers, conversations, devices, users } from './directory.js';
export { messages } from './messages.js';
export { changeLog, streamHeads } from './change-log.js';
