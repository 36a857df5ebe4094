import { describe, expect, it } from 'vitest';
import { answer, parseDefineCommand } from './define-command.js';

describe('!define', () => {
  it('reads the term of a command, and nothing else', () => {
    expect(parseDefineCommand('!define seq')).toEqual({ term: 'seq' });
    expect(parseDefineCommand('  !DEFINE  Change Feed  ')).toEqual({ term: 'change feed' });
    expect(parseDefineCommand('!define')).toBeUndefined();
    expect(parseDefineCommand('what does !define seq mean?')).toBeUndefined();
    expect(parseDefineCommand('define seq')).toBeUndefined();
  });

  it('answers from the glossary, and says when it does not know', () => {
    const glossary = new Map([['seq', 'the dense per-stream number of a change']]);
    expect(answer({ term: 'seq' }, glossary)).toBe('seq: the dense per-stream number of a change');
    expect(answer({ term: 'xid' }, glossary)).toBe(`I don't know "xid" yet.`);
  });
});
