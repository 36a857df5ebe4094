/**
 * A check for banned words: case-insensitive, whole words only (`spam` matches "SPAM!" but not
 * "spammer"). A word keeps only its letters and digits; a word left empty bans nothing.
 *
 * @example
 * const banned = bannedWordCheck(['spam']);
 * banned('this is SPAM, buy now'); // true
 * banned('spammers everywhere'); // false
 */
export function bannedWordCheck(bannedWords: readonly string[]): (text: string) => boolean {
  const words = bannedWords.map((word) => word.replace(/[^\p{L}\p{N}]/gu, '')).filter(Boolean);
  if (words.length === 0) return () => false;
  // Word characters as PostgreSQL's \m and \M see them: letters, digits and "_".
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${words.join('|')})(?![\\p{L}\\p{N}_])`, 'iu');
  return (text) => pattern.test(text);
}
