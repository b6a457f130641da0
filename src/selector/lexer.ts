// Tokeniser for the Calico selector language (API contract §5.1). Calico's tokenizer works on
// bytes, skips only space and tab, and recognises operator words only straight after a label, so
// none of them is reserved (`in in {"in"}` is a valid selector); this follows it rule by rule.

export const TOKEN_KINDS = [
  'lparen',
  'rparen',
  'lbrace',
  'rbrace',
  'comma',
  'eq',
  'ne',
  'not',
  'and',
  'or',
  'string',
  'label',
  'has',
  'all',
  'global',
  'contains',
  'startswith',
  'endswith',
  'notin',
  'in',
  'eof',
] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export interface Token {
  readonly kind: TokenKind;
  /** Offset in UTF-16 units into the source text (converted to bytes only for messages). */
  readonly pos: number;
  /** The label name or string contents; empty for punctuation. */
  readonly value: string;
}

/** Calico rejects label tokens longer than this (tokenizer limit, not the k8s label rule). */
export const MAX_LABEL_LENGTH = 512;

/** A syntax problem at a source offset; parseSelector turns it into a TricolorError. */
export class SelectorSyntaxError extends Error {
  readonly pos: number;
  readonly reason: string;
  constructor(pos: number, reason: string) {
    super(reason);
    this.name = 'SelectorSyntaxError';
    this.pos = pos;
    this.reason = reason;
  }
}

// Byte classes over ASCII; anything >= 0x80 (UTF-16 unit of a non-ASCII character) is no label char.
const LABEL_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-') LABEL_CHAR[c.charCodeAt(0)] = 1;

export function isLabelChar(c: number): boolean {
  return c < 128 && LABEL_CHAR[c] === 1;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

function labelEnd(s: string, i: number): number {
  while (i < s.length && isLabelChar(s.charCodeAt(i))) i++;
  return i;
}

function readLabel(s: string, i: number): { value: string; end: number } {
  const end = labelEnd(s, i);
  if (end - i > MAX_LABEL_LENGTH) {
    throw new SelectorSyntaxError(i, `label too long (${end - i} characters, at most ${MAX_LABEL_LENGTH})`);
  }
  return { value: s.slice(i, end), end };
}

/** `word` at i, ending on a word boundary (next char is not a label char, or end of input). */
function wordAt(s: string, i: number, word: string): number | undefined {
  if (!s.startsWith(word, i)) return undefined;
  const end = i + word.length;
  return end < s.length && isLabelChar(s.charCodeAt(end)) ? undefined : end;
}

/** Two-word operators allow any run of spaces/tabs between the words, or none. */
function twoWordsAt(s: string, i: number, first: string, second: string): number | undefined {
  if (!s.startsWith(first, i)) return undefined;
  return wordAt(s, skipSpace(s, i + first.length), second);
}

/** Operator words in Calico's order: contains, starts with, ends with, not in, in. */
function operatorAt(s: string, i: number): { kind: TokenKind; end: number } | undefined {
  const candidates: readonly [TokenKind, number | undefined][] = [
    ['contains', wordAt(s, i, 'contains')],
    ['startswith', twoWordsAt(s, i, 'starts', 'with')],
    ['endswith', twoWordsAt(s, i, 'ends', 'with')],
    ['notin', twoWordsAt(s, i, 'not', 'in')],
    ['in', wordAt(s, i, 'in')],
  ];
  for (const [kind, end] of candidates) if (end !== undefined) return { kind, end };
  return undefined;
}

/** `name(` ws* [LABEL] ws* `)` for has/all/global; returns undefined when `name(` is not there. */
function functionAt(s: string, i: number, name: 'has' | 'all' | 'global'): Token & { end: number } | undefined {
  const open = `${name}(`;
  if (!s.startsWith(open, i)) return undefined;
  let j = skipSpace(s, i + open.length);
  let value = '';
  if (name === 'has') {
    const lab = readLabel(s, j);
    if (lab.value === '') throw new SelectorSyntaxError(j, 'expected a label inside has()');
    value = lab.value;
    j = skipSpace(s, lab.end);
  }
  if (s.charCodeAt(j) !== 0x29 /* ) */) throw new SelectorSyntaxError(j, `expected ")" to close ${name}(`);
  return { kind: name, pos: i, value, end: j + 1 };
}

export function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, pos: number, value = ''): void => {
    tokens.push({ kind, pos, value });
  };
  for (;;) {
    i = skipSpace(s, i);
    if (i >= s.length) {
      push('eof', s.length);
      return tokens;
    }
    const c = s.charCodeAt(i);
    const afterLabel = tokens.length > 0 && tokens[tokens.length - 1]?.kind === 'label';
    switch (c) {
      case 0x28 /* ( */:
        push('lparen', i++);
        continue;
      case 0x29 /* ) */:
        push('rparen', i++);
        continue;
      case 0x7b /* { */:
        push('lbrace', i++);
        continue;
      case 0x7d /* } */:
        push('rbrace', i++);
        continue;
      case 0x2c /* , */:
        push('comma', i++);
        continue;
      case 0x22 /* " */:
      case 0x27 /* ' */: {
        // No escapes: the string ends at the next identical quote (Calico tokenizer).
        const close = s.indexOf(s[i] as string, i + 1);
        if (close === -1) throw new SelectorSyntaxError(i, 'unterminated string');
        push('string', i, s.slice(i + 1, close));
        i = close + 1;
        continue;
      }
      case 0x3d /* = */:
        if (s.charCodeAt(i + 1) !== 0x3d) throw new SelectorSyntaxError(i, 'expected "=="');
        push('eq', i);
        i += 2;
        continue;
      case 0x21 /* ! */:
        if (s.charCodeAt(i + 1) === 0x3d) {
          push('ne', i);
          i += 2;
        } else {
          push('not', i++);
        }
        continue;
      case 0x26 /* & */:
        if (s.charCodeAt(i + 1) !== 0x26) throw new SelectorSyntaxError(i, 'expected "&&"');
        push('and', i);
        i += 2;
        continue;
      case 0x7c /* | */:
        if (s.charCodeAt(i + 1) !== 0x7c) throw new SelectorSyntaxError(i, 'expected "||"');
        push('or', i);
        i += 2;
        continue;
      default:
        break;
    }
    if (afterLabel) {
      const m = operatorAt(s, i);
      if (m === undefined) throw new SelectorSyntaxError(i, 'expected operator after label');
      push(m.kind, i);
      i = m.end;
      continue;
    }
    const fn = functionAt(s, i, 'has') ?? functionAt(s, i, 'all') ?? functionAt(s, i, 'global');
    if (fn !== undefined) {
      push(fn.kind, fn.pos, fn.value);
      i = fn.end;
      continue;
    }
    if (isLabelChar(c)) {
      const lab = readLabel(s, i);
      push('label', i, lab.value);
      i = lab.end;
      continue;
    }
    const ch = String.fromCodePoint(s.codePointAt(i) ?? c);
    throw new SelectorSyntaxError(i, `unexpected character ${JSON.stringify(ch)}`);
  }
}
