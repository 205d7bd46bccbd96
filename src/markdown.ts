/**
 * A safe Markdown subset for task statements: paragraphs (line breaks kept), headings, lists,
 * fenced code blocks, inline code, **bold**, *emphasis* and http(s) links.
 *
 * Everything is built with DOM nodes and textContent: raw HTML in the text stays visible
 * text, never markup, and a link whose target is not http(s) stays plain text. Constructs
 * outside the subset (images, tables, underscores) are shown as typed, so no character the
 * author wrote is lost.
 */

const FENCE = /^ {0,3}(```|~~~)(.*)$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^ {0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^ {0,3}(\d{1,9})[.)]\s+(.*)$/;
// Inline code, then bold, emphasis and links; the first match wins at each position.
const INLINE = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\*\*(?=\S)([^*]*?\S)\*\*|\*(?=[^\s*])([^*]*?[^\s*])\*|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g;

/** Append the inline content of one line (or paragraph) to `parent`. */
export function renderInline(parent: HTMLElement, text: string): void {
  let pos = 0;
  for (const m of text.matchAll(INLINE)) {
    const at = m.index ?? 0;
    if (at > pos) {
      parent.append(document.createTextNode(text.slice(pos, at)));
    }
    let node: HTMLElement;
    if (m[1] !== undefined) {
      node = document.createElement('code');
      node.textContent = m[2];
    } else if (m[3] !== undefined) {
      node = document.createElement('strong');
      node.textContent = m[3];
    } else if (m[4] !== undefined) {
      node = document.createElement('em');
      node.textContent = m[4];
    } else {
      const a = document.createElement('a');
      a.href = m[6];
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.textContent = m[5];
      node = a;
    }
    parent.append(node);
    pos = at + m[0].length;
  }
  if (pos < text.length) {
    parent.append(document.createTextNode(text.slice(pos)));
  }
}

/** Render `source` into `target` (replacing its children). */
export function renderMarkdown(target: HTMLElement, source: string): void {
  target.replaceChildren();
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  let para: string[] = [];
  const flush = (): void => {
    if (para.length) {
      const p = document.createElement('p');
      renderInline(p, para.join('\n'));
      target.append(p);
      para = [];
    }
  };
  while (i < lines.length) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trimStart().startsWith(fence[1])) {
        body.push(lines[i++]);
      }
      i++; // the closing fence (or the end)
      const pre = document.createElement('pre');
      const code = document.createElement('code');
      code.textContent = body.join('\n');
      pre.append(code);
      target.append(pre);
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      const h = document.createElement(`h${Math.min(6, heading[1].length + 2)}` as 'h3');
      renderInline(h, heading[2]);
      target.append(h);
      i++;
      continue;
    }
    if (BULLET.test(line) || NUMBERED.test(line)) {
      flush();
      const numbered = !BULLET.test(line);
      const list = document.createElement(numbered ? 'ol' : 'ul');
      const first = NUMBERED.exec(line);
      if (numbered && first && first[1] !== '1') {
        (list as HTMLOListElement).start = Number(first[1]);
      }
      while (i < lines.length) {
        const m = numbered ? NUMBERED.exec(lines[i]) : BULLET.exec(lines[i]);
        if (!m) {
          break;
        }
        const li = document.createElement('li');
        renderInline(li, numbered ? m[2] : m[1]);
        list.append(li);
        i++;
      }
      target.append(list);
      continue;
    }
    if (!line.trim()) {
      flush();
    } else {
      para.push(line);
    }
    i++;
  }
  flush();
}
