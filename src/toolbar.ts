/**
 * The review view's toolbar controls, apart from the search box (searchbar.ts): the diff
 * layout (unified or side by side, wrapped lines), the triage buttons when the assistant's
 * hunk scores are shown, and the navigator over the critique's comments.
 */
import { KeyMap } from './keys';
import { el } from './rows';
import { ReviewOptions } from './types';

/** The "Unified / Side by side" switch and the "Wrap lines" toggle, showing `options`; a click calls `set`. */
export function layoutControls(options: ReviewOptions, set: (change: Partial<ReviewOptions>) => void): HTMLElement[] {
  const mode = el('span', 'ov-seg');
  for (const [value, label] of [
    ['unified', 'Unified'],
    ['split', 'Side by side']
  ] as const) {
    const b = el('button', 'ov-btn ov-mode', label);
    b.type = 'button';
    b.dataset.mode = value;
    b.setAttribute('aria-pressed', String(options.diffView === value));
    b.addEventListener('click', () => set({ diffView: value }));
    mode.append(b);
  }
  const wrap = el('button', 'ov-btn ov-wrap-toggle', 'Wrap lines');
  wrap.type = 'button';
  wrap.title = 'Wrap long lines, or keep one row per line and scroll sideways';
  wrap.setAttribute('aria-pressed', String(options.wrapLines));
  wrap.addEventListener('click', () => set({ wrapLines: !options.wrapLines }));
  return [mode, wrap];
}

/**
 * "Next suspicious hunk" and the "Ranked hunks" toggle (pressed while `rankedOpen`); empty
 * without hunk scores. `toggleRanked` flips the ranked list and says whether it is now open.
 */
export function triageControls(scored: boolean, rankedOpen: boolean, next: () => void, toggleRanked: () => boolean): HTMLElement {
  const triage = el('span', 'ov-triage-nav');
  if (scored) {
    const nextButton = el('button', 'ov-btn ov-next-suspicious', 'Next suspicious hunk');
    nextButton.type = 'button';
    nextButton.title = 'Go to the next hunk in the assistant\u2019s suspicion ranking';
    nextButton.addEventListener('click', next);
    const ranked = el('button', 'ov-btn ov-ranked-toggle', 'Ranked hunks');
    ranked.type = 'button';
    ranked.setAttribute('aria-pressed', String(rankedOpen));
    ranked.addEventListener('click', () => ranked.setAttribute('aria-pressed', String(toggleRanked())));
    triage.append(nextButton, ranked);
  }
  return triage;
}

/**
 * Fill `nav` with previous / next comment buttons (their keys in the titles) and where the
 * rater is: "comment 2 of 5 · 1 answered" (`active` -1: none yet). Empty without comments.
 */
export function renderCommentNav(nav: Element, n: number, active: number, answered: number, keys: KeyMap, jump: (step: number) => void): void {
  nav.replaceChildren();
  if (!n) {
    return;
  }
  const prev = el('button', 'ov-btn ov-prev-comment', '◀');
  prev.type = 'button';
  prev.title = `Previous comment (${keys.prevComment})`;
  prev.addEventListener('click', () => jump(-1));
  const next = el('button', 'ov-btn ov-next-comment', '▶');
  next.type = 'button';
  next.title = `Next comment (${keys.nextComment})`;
  next.addEventListener('click', () => jump(1));
  const where = active < 0 ? `${n} AI comments` : `comment ${active + 1} of ${n}`;
  nav.append(prev, el('span', 'ov-nav-text', `${where} · ${answered} answered`), next);
}
