export { answer, parseDefineCommand, type DefineCommand } from './define-command.js';
export { startGlossaryBot, type GlossaryBot, type GlossaryBotOptions } from './glossary-bot.js';
