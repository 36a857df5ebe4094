export { removeBannedMessages, type ModerationOptions } from './moderation-bot.js';
