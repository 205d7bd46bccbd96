/**
 * The review view's header: the title line (study and item, the queue of the study's items,
 * progress, audits left), the task statement, and the assistant's verdict and summary when
 * the condition shows a critique.
 */
import { renderMarkdown } from './markdown';
import { el } from './rows';
import { ItemView, ReviewTransport } from './types';

/**
 * Fill `header` with the item's title line (the study and item, then `extras`), its task, and
 * the critique's verdict and summary if the view carries one.
 */
export function renderHeader(header: HTMLElement, v: ItemView, extras: HTMLElement[]): void {
  const top = el('div', 'ov-title');
  top.append(el('span', 'ov-study', `${v.assignment.study} · item ${v.assignment.position + 1}`), ...extras);
  const task = el('div', 'ov-task');
  const text = el('div', 'ov-task-text');
  renderMarkdown(text, v.item.task || '(no task statement)');
  task.append(el('div', 'ov-label', 'Task'), text);
  if (v.item.spec && v.item.spec !== v.item.task) {
    task.append(el('div', 'ov-spec', v.item.spec));
  }
  header.replaceChildren(top, task);
  const c = v.critique;
  if (c) {
    const box = el('div', 'ov-critique');
    const verdict = c.verdict === 'buggy' ? 'has a bug' : c.verdict === 'correct' ? 'looks correct' : 'no verdict';
    const conf = c.confidence === null ? '' : ` (${Math.round(c.confidence * 100)}% confident)`;
    box.append(el('span', 'ov-ai-badge', 'AI'), el('span', 'ov-ai-verdict', `The assistant says: ${verdict}${conf}`));
    if (c.summary) {
      box.append(el('div', 'ov-ai-summary', c.summary));
    }
    header.append(box);
  }
}

/**
 * The queue: every item with its state; a done one opens for revision. `current` is the
 * assignment shown (marked in the list). Empty where the transport cannot list or open items.
 */
export function queueButton(transport: ReviewTransport, current: string | null): HTMLElement {
  const box = el('span', 'ov-queue-box');
  if (!transport.queue || !transport.open) {
    return box;
  }
  const toggle = el('button', 'ov-btn ov-queue-toggle', 'Queue');
  toggle.type = 'button';
  toggle.title = 'All items of this study; open a submitted one to revise it';
  const list = el('div', 'ov-queue');
  list.hidden = true;
  toggle.addEventListener('click', async () => {
    if (!list.hidden) {
      list.hidden = true;
      return;
    }
    let entries;
    try {
      entries = await transport.queue!();
    } catch (err) {
      list.replaceChildren(el('div', 'ov-error', `Cannot load the queue: ${(err as Error).message}`));
      list.hidden = false;
      return;
    }
    list.replaceChildren(
      ...entries.map(e => {
        const status = e.status ?? (e.done ? 'judged' : 'open');
        const said = status === 'cannot_judge' ? 'cannot judge' : status === 'judged' ? 'submitted' : 'to do';
        const b = el('button', 'ov-btn ov-queue-item', `Item ${e.position + 1} · ${said}`);
        b.type = 'button';
        b.dataset.assignment = e.id;
        b.dataset.done = String(e.done);
        b.dataset.status = status;
        if (e.id === current) {
          b.setAttribute('aria-current', 'true');
        }
        b.addEventListener('click', () => {
          list.hidden = true;
          void transport.open!(e.id);
        });
        return b;
      })
    );
    list.hidden = false;
  });
  box.append(toggle, list);
  return box;
}
