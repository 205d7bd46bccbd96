/**
 * A small line tokenizer for syntax colours: keywords, strings, comments and numbers of
 * Python, JavaScript/TypeScript, Java, Go, C/C++ and Rust.
 *
 * Lines are tokenized one at a time because only visible rows are rendered; a block comment
 * or string that spans lines is coloured only on its first line, a price worth paying for
 * constant-time rendering of any row. Output is (class, text) pairs that the renderer turns
 * into text nodes, so code never reaches innerHTML.
 */

export type Token = [cls: string, text: string];

interface Lang {
  keywords: Set<string>;
  lineComment: string[];
  blockComment: [string, string] | null;
  quotes: string[];
}

const words = (s: string): Set<string> => new Set(s.split(/\s+/).filter(Boolean));

const C_FAMILY = 'if else for while do switch case default break continue return goto sizeof struct union enum typedef const static';

const LANGS: Record<string, Lang> = {
  python: {
    keywords: words(
      'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield self match case'
    ),
    lineComment: ['#'],
    blockComment: null,
    quotes: ['"""', "'''", '"', "'"]
  },
  javascript: {
    keywords: words(
      'async await break case catch class const continue debugger default delete do else export extends false finally for from function if import in instanceof let new null of return static super switch this throw true try typeof undefined var void while with yield interface type enum implements private public protected readonly'
    ),
    lineComment: ['//'],
    blockComment: ['/*', '*/'],
    quotes: ['`', '"', "'"]
  },
  java: {
    keywords: words(
      `${C_FAMILY} abstract assert boolean byte catch char class extends final finally float implements import instanceof int interface long native new null package private protected public short super synchronized this throw throws transient try void volatile true false var record`
    ),
    lineComment: ['//'],
    blockComment: ['/*', '*/'],
    quotes: ['"', "'"]
  },
  go: {
    keywords: words(
      'break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var nil true false iota'
    ),
    lineComment: ['//'],
    blockComment: ['/*', '*/'],
    quotes: ['`', '"', "'"]
  },
  cpp: {
    keywords: words(
      `${C_FAMILY} auto bool char class delete double explicit extern false float friend inline int long namespace new noexcept nullptr operator private protected public register short signed template this throw true try catch typename unsigned using virtual void volatile constexpr override include define`
    ),
    lineComment: ['//'],
    blockComment: ['/*', '*/'],
    quotes: ['"', "'"]
  },
  rust: {
    keywords: words(
      'as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod move mut pub ref return self Self static struct super trait true type unsafe use where while Some None Ok Err'
    ),
    lineComment: ['//'],
    blockComment: ['/*', '*/'],
    quotes: ['"']
  }
};

const ALIASES: Record<string, string> = {
  py: 'python',
  js: 'javascript',
  ts: 'javascript',
  typescript: 'javascript',
  jsx: 'javascript',
  tsx: 'javascript',
  c: 'cpp',
  'c++': 'cpp',
  h: 'cpp',
  hpp: 'cpp',
  cc: 'cpp',
  rs: 'rust',
  golang: 'go'
};

/** The tokenizer rules for a language name or file extension; null when unknown (plain text). */
export function languageOf(language: string, path = ''): Lang | null {
  const name = (language || '').toLowerCase();
  const ext = path.includes('.') ? path.split('.').pop()!.toLowerCase() : '';
  for (const key of [name, ALIASES[name], ext, ALIASES[ext]]) {
    if (key && LANGS[key]) {
      return LANGS[key];
    }
  }
  return null;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /(?:0[xXbBoO][0-9a-fA-F_]+|\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?)/y;

/** Split one line of code into coloured tokens; the texts concatenate back to the line. */
export function tokenize(line: string, lang: Lang | null): Token[] {
  if (!lang) {
    return [['', line]];
  }
  const out: Token[] = [];
  let plain = '';
  const flush = (): void => {
    if (plain) {
      out.push(['', plain]);
      plain = '';
    }
  };
  let i = 0;
  while (i < line.length) {
    const ch = line[i];
    if (lang.lineComment.some(c => line.startsWith(c, i))) {
      flush();
      out.push(['tok-comment', line.slice(i)]);
      return out;
    }
    if (lang.blockComment && line.startsWith(lang.blockComment[0], i)) {
      const end = line.indexOf(lang.blockComment[1], i + 2);
      const stop = end < 0 ? line.length : end + lang.blockComment[1].length;
      flush();
      out.push(['tok-comment', line.slice(i, stop)]);
      i = stop;
      continue;
    }
    const quote = lang.quotes.find(q => line.startsWith(q, i));
    if (quote) {
      let j = i + quote.length;
      while (j < line.length && !line.startsWith(quote, j)) {
        j += line[j] === '\\' ? 2 : 1;
      }
      const stop = Math.min(line.length, j + quote.length);
      flush();
      out.push(['tok-string', line.slice(i, stop)]);
      i = stop;
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      IDENT.lastIndex = i;
      const word = IDENT.exec(line)![0];
      if (lang.keywords.has(word)) {
        flush();
        out.push(['tok-keyword', word]);
      } else {
        plain += word;
      }
      i += word.length;
      continue;
    }
    if (/\d/.test(ch)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(line);
      const num = m ? m[0] : ch;
      flush();
      out.push(['tok-number', num]);
      i += num.length;
      continue;
    }
    plain += ch;
    i++;
  }
  flush();
  return out;
}

/** A character range [start, end) of a line drawn with an extra class (word diff, search hit). */
export type Mark = [start: number, end: number, cls: string];

/** Split tokens at mark boundaries; each piece carries its token class plus its marks' classes. */
export function markTokens(tokens: Token[], marks: Mark[]): Token[] {
  if (!marks.length) {
    return tokens;
  }
  const cuts = new Set<number>();
  for (const [a, b] of marks) {
    cuts.add(a);
    cuts.add(b);
  }
  const out: Token[] = [];
  let pos = 0;
  for (const [cls, text] of tokens) {
    const end = pos + text.length;
    const inner = [...cuts].filter(c => c > pos && c < end).sort((x, y) => x - y);
    let start = pos;
    for (const stop of [...inner, end]) {
      const extra = marks.filter(([a, b]) => a <= start && b >= stop && b > a).map(m => m[2]);
      const piece = text.slice(start - pos, stop - pos);
      if (piece) {
        out.push([[cls, ...extra].filter(Boolean).join(' '), piece]);
      }
      start = stop;
    }
    pos = end;
  }
  return out;
}

/** Append a line's tokens to `el` as text nodes and spans (never as HTML). */
export function renderCode(el: HTMLElement, line: string, lang: Lang | null, marks: Mark[] = []): void {
  for (const [cls, text] of markTokens(tokenize(line, lang), marks)) {
    if (!cls) {
      el.appendChild(document.createTextNode(text));
    } else {
      const span = document.createElement('span');
      span.className = cls;
      span.textContent = text;
      el.appendChild(span);
    }
  }
}
