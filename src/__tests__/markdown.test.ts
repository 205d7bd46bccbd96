/**
 * The task statement's Markdown: the subset renders, and raw HTML or script links stay inert
 * text. Runs on a minimal DOM stand-in (node has none): the renderer uses only createElement,
 * createTextNode, append, replaceChildren and textContent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

class Node0 {
  children: Node0[] = [];
  attrs: Record<string, string> = {};
  constructor(
    readonly tag: string,
    public text = ''
  ) {}
  append(...nodes: Node0[]): void {
    this.children.push(...nodes);
  }
  replaceChildren(...nodes: Node0[]): void {
    this.children = nodes;
  }
  set textContent(t: string) {
    this.children = [new Node0('#text', t)];
  }
  get textContent(): string {
    return this.tag === '#text' ? this.text : this.children.map(c => c.textContent).join('');
  }
  set href(v: string) {
    this.attrs.href = v;
  }
  set target(v: string) {
    this.attrs.target = v;
  }
  set rel(v: string) {
    this.attrs.rel = v;
  }
  set start(v: number) {
    this.attrs.start = String(v);
  }
}

(globalThis as any).document = {
  createElement: (tag: string) => new Node0(tag),
  createTextNode: (text: string) => new Node0('#text', text)
};

const { renderMarkdown } = await import('../markdown');

function render(src: string): Node0 {
  const root = new Node0('div');
  renderMarkdown(root as unknown as HTMLElement, src);
  return root;
}

const shape = (n: Node0): unknown => (n.tag === '#text' ? n.text : [n.tag, ...n.children.map(shape)]);

test('the subset renders: code, bold, emphasis, lists, fences, headings, http links', () => {
  const root = render('# Goal\nMake `mean()` **fast** and *exact*.\n\n- one\n- two\n\n```\nx = <b>1</b>\n```\nSee [docs](https://example.org/a).');
  assert.deepEqual(root.children.map(shape), [
    ['h3', 'Goal'],
    ['p', 'Make ', ['code', 'mean()'], ' ', ['strong', 'fast'], ' and ', ['em', 'exact'], '.'],
    ['ul', ['li', 'one'], ['li', 'two']],
    ['pre', ['code', 'x = <b>1</b>']],
    ['p', 'See ', ['a', 'docs'], '.']
  ]);
  const link = root.children[4].children[1];
  assert.deepEqual(link.attrs, { href: 'https://example.org/a', target: '_blank', rel: 'noopener noreferrer' });
});

test('raw HTML, script links and unsupported constructs stay as typed text', () => {
  const src = ['<script>x()</script>', '[a](javascript:alert(1))', '![i](x" onerror="y)', 'snake_case __init__ 2 * 3'].join('\n');
  const root = render(src);
  assert.equal(root.children.length, 1);
  assert.deepEqual(shape(root.children[0]), ['p', src]);
  assert.equal(root.textContent, src, 'no character is lost');
});
