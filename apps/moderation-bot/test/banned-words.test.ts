import { describe, expect, it } from 'vitest';
import { bannedWordCheck } from '../src/banned-words.js';

describe('bannedWordCheck', () => {
  const banned = bannedWordCheck(['spam', 'scam']);

  it('finds a banned word whatever its case, next to punctuation', () => {
    expect(banned('this is SPAM, buy now')).toBe(true);
    expect(banned('Scam!')).toBe(true);
    expect(banned('spam_')).toBe(false);
  });

  it('matches whole words only', () => {
    expect(banned('see you at lunch')).toBe(false);
    expect(banned('spammers and scammed people')).toBe(false);
    expect(banned('antispam')).toBe(false);
    expect(banned('éspam')).toBe(false);
  });

  it('keeps only the letters and digits of a banned word', () => {
    const check = bannedWordCheck(['spam!', 'a.b']);
    expect(check('SPAM')).toBe(true);
    expect(check('ab')).toBe(true);
    expect(check('a.b')).toBe(false);
  });

  it('bans nothing without words', () => {
    expect(bannedWordCheck([])('spam')).toBe(false);
    expect(bannedWordCheck(['!!'])('!! spam')).toBe(false);
  });
});
