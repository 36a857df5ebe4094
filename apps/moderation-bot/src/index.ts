export { bannedWordCheck } from './banned-words.js';
export {
  startModerationBot,
  type ModerationBot,
  type ModerationBotOptions,
} from './moderation-bot.js';
