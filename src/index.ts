/**
 * The oversight-ext JupyterLab plugin: the studies sidebar, review panels in the main area,
 * palette commands, and settings (diff view, context lines, row height, keys).
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, WidgetTracker } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';
import dashboardPlugin from './dashboard';
import heatStripPlugin from './heatstrip';
import { Outbox } from './outbox';
import { ReviewPanel, StudiesSidebar, errorText } from './panel';
import { ReviewApi } from './rest';
import { DEFAULT_KEYS, KeyMap } from './reviewview';
import { DEFAULT_OPTIONS, ReviewOptions } from './types';

const PLUGIN_ID = 'oversight-ext:plugin';

export namespace CommandIDs {
  export const openReview = 'oversight:open-review';
  export const nextItem = 'oversight:next-item';
  export const submit = 'oversight:submit';
  export const nextComment = 'oversight:next-comment';
  export const toggleView = 'oversight:toggle-diff-view';
  export const showStudies = 'oversight:show-studies';
}

export const reviewIcon = new LabIcon({
  name: 'oversight-ext:review',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M4 3h11l5 5v13H4zm10 1.5V9h4.5zM7 12v2h10v-2zm0 4v2h7v-2zm0-8v2h5V8z"/></svg>'
});

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Review code diffs with AI critiques: studies sidebar, review panel and commands.',
  autoStart: true,
  // No ILabShell: Notebook 7 has no lab shell. app.shell (JupyterLab's or Notebook's) has the
  // left area, the main area and activateById that the plugin uses.
  requires: [],
  optional: [ICommandPalette, ISettingRegistry, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null
  ) => {
    const shell = app.shell;
    const api = new ReviewApi();
    const outbox = new Outbox(p => api.post(p));
    let options: ReviewOptions = { ...DEFAULT_OPTIONS };
    let keys: KeyMap = { ...DEFAULT_KEYS };
    const panels = new Map<string, ReviewPanel>();
    const tracker = new WidgetTracker<ReviewPanel>({ namespace: 'oversight-review' });

    const sidebar = new StudiesSidebar(api, study => void app.commands.execute(CommandIDs.openReview, { study }));
    sidebar.title.icon = reviewIcon;
    shell.add(sidebar, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(sidebar, 'oversight-studies');
    }

    const current = (): ReviewPanel | null => {
      const w = shell.currentWidget;
      return w instanceof ReviewPanel ? w : null;
    };

    app.commands.addCommand(CommandIDs.openReview, {
      label: 'Oversight: Open Review',
      caption: 'Open the review panel for a study (default: your first unfinished study)',
      execute: async args => {
        let study = (args.study as string) || '';
        if (!study) {
          const me = await api.me();
          const open = me.studies.find(s => s.done < s.total) ?? me.studies[0];
          if (!open) {
            throw new Error('No studies are assigned to you yet.');
          }
          study = open.name;
        }
        let panel = panels.get(study);
        if (!panel || panel.isDisposed) {
          panel = new ReviewPanel(api, outbox, study, options, () => void sidebar.refresh());
          panel.view.setKeys(keys);
          panels.set(study, panel);
          shell.add(panel, 'main');
          if (!Array.from(shell.widgets('main')).includes(panel)) {
            // Notebook 7's file-browser page keeps its one main widget and ignores others: review in its right side panel.
            shell.add(panel, 'right', { rank: 100 });
          }
          void tracker.add(panel);
          await panel.start();
        }
        shell.activateById(panel.id);
        return panel;
      }
    });
    app.commands.addCommand(CommandIDs.nextItem, {
      label: 'Oversight: Next Item',
      isEnabled: () => current() !== null,
      execute: () => current()?.view.next()
    });
    app.commands.addCommand(CommandIDs.submit, {
      label: 'Oversight: Submit Judgment',
      isEnabled: () => current() !== null,
      execute: () => current()?.view.submit()
    });
    app.commands.addCommand(CommandIDs.nextComment, {
      label: 'Oversight: Jump to Next AI Comment',
      isEnabled: () => current() !== null,
      execute: () => current()?.view.jumpComment(1)
    });
    app.commands.addCommand(CommandIDs.toggleView, {
      label: 'Oversight: Toggle Unified / Side-by-Side Diff',
      isEnabled: () => current() !== null,
      execute: () => current()?.view.toggleMode()
    });
    app.commands.addCommand(CommandIDs.showStudies, {
      label: 'Oversight: Show My Studies',
      execute: () => {
        shell.activateById(sidebar.id);
        void sidebar.refresh();
      }
    });
    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: 'Oversight' });
      }
    }

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings): void => {
        const c = settings.composite as any;
        options = {
          diffView: c.diffView === 'split' ? 'split' : 'unified',
          contextLines: Number(c.contextLines ?? DEFAULT_OPTIONS.contextLines),
          rowHeight: Number(c.rowHeight ?? DEFAULT_OPTIONS.rowHeight),
          wrapLines: c.wrapLines === undefined ? DEFAULT_OPTIONS.wrapLines : Boolean(c.wrapLines)
        };
        keys = { ...DEFAULT_KEYS, ...(c.keys ?? {}) };
        for (const p of panels.values()) {
          if (!p.isDisposed) {
            p.view.setOptions(options);
            p.view.setKeys(keys);
          }
        }
      };
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          apply(settings);
          settings.changed.connect(apply);
        })
        .catch(err => console.warn(`oversight-ext: settings not loaded (${errorText(err)}); using defaults`));
    }
    if (restorer) {
      // A page reload mid-item reopens the panel, whose draft then restores the rater's choices.
      void restorer.restore(tracker, {
        command: CommandIDs.openReview,
        args: panel => ({ study: panel.study }),
        name: panel => panel.study
      });
    }
    // Judgments queued while the server was away (even in an earlier page) go out now.
    void outbox.flush();
  }
};

export default [plugin, dashboardPlugin, heatStripPlugin];
