/**
 * jupyter-knative's JupyterLab plugins: the sidebar with its commands and launcher card
 * (`jupyter-knative:plugin`, settings in schema/plugin.json) and YAML highlighting for
 * `%%knative apply` cells (`jupyter-knative:yaml-cells`).
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  InputDialog,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { KnativeAPI } from './api';
import {
  dashboardCell,
  isValidServiceName,
  loadsMagics,
  serviceCellTemplate,
  yamlCellTemplate
} from './cells';
import { IControllerOptions, KnativeController } from './controller';
import { knativeIcon } from './icons';
import { logsPanel } from './logs';
import { ISidebarActions, KnativeSidebar } from './sidebar';
import { proxyUrl } from './urls';
import { trackYamlCells } from './yamlcells';

const PLUGIN_ID = 'jupyter-knative:plugin';

/** The commands this extension adds; the palette shows those labelled `Knative: …`. */
export const CommandIDs = {
  openDashboard: 'knative:open-dashboard',
  newServiceCell: 'knative:new-service-cell',
  newYamlCell: 'knative:new-yaml-cell',
  startPlane: 'knative:start-plane',
  stopPlane: 'knative:stop-plane',
  refresh: 'knative:refresh',
  openUrl: 'knative:open-url',
  showLogs: 'knative:show-logs',
  deleteService: 'knative:delete-service',
  openCourse: 'knative:open-course',
  showSidebar: 'knative:show-sidebar'
} as const;

const DEFAULT_COURSE = ['notebooks/00-setup.ipynb', '00-setup.ipynb'];

interface IKnativeSettings extends IControllerOptions {
  courseNotebooks: string[];
}

function readSettings(settings: ISettingRegistry.ISettings | null): IKnativeSettings {
  const get = <T>(key: string, fallback: T): T =>
    (settings?.get(key).composite as T | undefined) ?? fallback;
  return {
    defaultNamespace: get('defaultNamespace', ''),
    stream: get('stream', true),
    pollInterval: get('pollSeconds', 5) * 1000,
    courseNotebooks: get('courseNotebooks', DEFAULT_COURSE)
  };
}

/** Put `source` in a code cell below the active one (or in the empty active one) and maybe run it. */
async function insertCell(
  app: JupyterFrontEnd,
  tracker: INotebookTracker | null,
  source: string,
  run: boolean
): Promise<void> {
  let panel = tracker?.currentWidget ?? null;
  if (!panel) {
    panel = (await app.commands.execute('notebook:create-new', {})) as NotebookPanel;
  }
  await panel.context.ready;
  app.shell.activateById(panel.id);
  const notebook = panel.content;
  const sources = notebook.widgets.map(c => c.model.sharedModel.getSource());
  const fill = (text: string): void => {
    const active = notebook.activeCell;
    if (!(active && active.model.type === 'code' && active.model.sharedModel.getSource() === '')) {
      NotebookActions.insertBelow(notebook);
    }
    NotebookActions.changeCellType(notebook, 'code');
    notebook.activeCell?.model.sharedModel.setSource(text);
  };
  if (!loadsMagics(sources) && source.startsWith('%%')) {
    // A cell magic must head its cell: load the magics in a cell of their own above it.
    fill('%load_ext jupyter_knative');
    if (run) {
      await NotebookActions.run(notebook, panel.sessionContext);
    }
  }
  fill(source);
  if (run) {
    await NotebookActions.run(notebook, panel.sessionContext);
  }
}

function magicsLoaded(tracker: INotebookTracker | null): boolean {
  const notebook = tracker?.currentWidget?.content;
  return notebook ? loadsMagics(notebook.widgets.map(c => c.model.sharedModel.getSource())) : false;
}

async function firstExisting(app: JupyterFrontEnd, paths: string[]): Promise<string | null> {
  for (const path of paths) {
    try {
      await app.serviceManager.contents.get(path, { content: false });
      return path;
    } catch {
      // not there: try the next
    }
  }
  return null;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The Knative sidebar, palette commands and the course launcher card.',
  autoStart: true,
  optional: [ILayoutRestorer, ISettingRegistry, ICommandPalette, ILauncher, INotebookTracker],
  activate: async (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    registry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    tracker: INotebookTracker | null
  ) => {
    const api = new KnativeAPI();
    let settings: ISettingRegistry.ISettings | null = null;
    try {
      settings = registry ? await registry.load(PLUGIN_ID) : null;
    } catch (error) {
      console.warn('jupyter-knative: settings not loaded, using the defaults', error);
    }
    const options = readSettings(settings);
    const controller = new KnativeController(api, options);
    settings?.changed.connect(() => controller.configure(readSettings(settings)));

    const serviceAt = (args: {
      name?: unknown;
      namespace?: unknown;
    }): { ns: string; name: string } | null => {
      let name = typeof args.name === 'string' ? args.name : '';
      if (!name) {
        const node = app.contextMenuHitTest(n => n.dataset.knativeService !== undefined);
        name = node?.dataset.knativeService ?? '';
      }
      const ns =
        typeof args.namespace === 'string' && args.namespace
          ? args.namespace
          : controller.state.namespace;
      return name ? { ns, name } : null;
    };

    const askService = async (title: string): Promise<string | null> => {
      const names = (controller.state.snapshot?.services ?? []).map(s => s.name);
      const result = names.length
        ? await InputDialog.getItem({ title, items: names, editable: true })
        : await InputDialog.getText({ title, placeholder: 'service name' });
      return result.button.accept && result.value ? result.value.trim() : null;
    };

    const actions: ISidebarActions = {
      openUrl: (ns, name) => void app.commands.execute(CommandIDs.openUrl, { namespace: ns, name }),
      openDashboard: (ns, name) =>
        void app.commands.execute(CommandIDs.openDashboard, { namespace: ns, name }),
      showLogs: (ns, name) =>
        void app.commands.execute(CommandIDs.showLogs, { namespace: ns, name }),
      remove: (ns, kind, name) =>
        void app.commands.execute(CommandIDs.deleteService, { namespace: ns, name, kind })
    };

    const sidebar = new KnativeSidebar(controller, actions);
    app.shell.add(sidebar, 'left', { rank: 850 });
    restorer?.add(sidebar, 'jupyter-knative-sidebar');

    const { commands } = app;
    commands.addCommand(CommandIDs.showSidebar, {
      label: 'Knative: show the sidebar',
      execute: () => app.shell.activateById(sidebar.id)
    });
    commands.addCommand(CommandIDs.openUrl, {
      label: 'Open Service URL',
      caption: 'Open the service through the Jupyter server proxy in a new browser tab',
      execute: args => {
        const target = serviceAt(args);
        if (target) {
          window.open(proxyUrl(api.settings.baseUrl, target.ns, target.name), '_blank');
        }
      }
    });
    commands.addCommand(CommandIDs.openDashboard, {
      label: args => (args.name ? 'Open Dashboard' : 'Knative: open dashboard'),
      caption: 'Run `%knative dashboard NAME` in the current notebook (or a new one)',
      execute: async args => {
        const name = serviceAt(args)?.name ?? (await askService('Dashboard of the service'));
        if (name) {
          await insertCell(app, tracker, dashboardCell(name, magicsLoaded(tracker)), true);
        }
      }
    });
    commands.addCommand(CommandIDs.showLogs, {
      label: 'Show Logs',
      execute: args => {
        const target = serviceAt(args);
        if (!target) {
          return;
        }
        const panel = logsPanel(() => api.logs(target.ns, target.name), target.ns, target.name);
        const existing = Array.from(app.shell.widgets('main')).find(w => w.id === panel.id);
        if (existing) {
          panel.dispose();
          app.shell.activateById(existing.id);
          return;
        }
        app.shell.add(panel, 'main');
      }
    });
    commands.addCommand(CommandIDs.deleteService, {
      label: 'Delete Service…',
      execute: async args => {
        const target = serviceAt(args);
        if (!target) {
          return;
        }
        const kind = typeof args.kind === 'string' ? args.kind : 'Service';
        const answer = await showDialog({
          title: `Delete ${kind}`,
          body: `Delete the Knative ${kind.toLowerCase()} "${target.name}" in namespace "${target.ns}"?`,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
        });
        if (!answer.button.accept) {
          return;
        }
        try {
          await api.remove(kind, target.ns, target.name);
        } catch (error) {
          await showErrorMessage(`Could not delete ${target.name}`, error as Error);
        }
        if (!controller.options.stream) {
          await controller.refresh();
        }
      }
    });
    commands.addCommand(CommandIDs.newServiceCell, {
      label: 'Knative: new service cell',
      caption: 'Insert a `%%knative service NAME` cell',
      execute: async () => {
        const result = await InputDialog.getText({ title: 'Service name', text: 'hello' });
        const name = result.value?.trim() ?? '';
        if (!result.button.accept || !name) {
          return;
        }
        if (!isValidServiceName(name)) {
          await showErrorMessage(
            'Not a service name',
            `name = ${name}, must be a DNS label: a-z, 0-9 and -`
          );
          return;
        }
        await insertCell(app, tracker, serviceCellTemplate(name), false);
      }
    });
    commands.addCommand(CommandIDs.newYamlCell, {
      label: 'Knative: new YAML cell',
      caption: 'Insert a `%%knative apply` cell with a Service manifest',
      execute: () => insertCell(app, tracker, yamlCellTemplate(), false)
    });
    commands.addCommand(CommandIDs.startPlane, {
      label: 'Knative: start plane',
      isEnabled: () => controller.state.status?.backend !== 'kubernetes',
      execute: () => controller.setPlane(true)
    });
    commands.addCommand(CommandIDs.stopPlane, {
      label: 'Knative: stop plane',
      isEnabled: () => controller.state.status?.backend !== 'kubernetes',
      execute: () => controller.setPlane(false)
    });
    commands.addCommand(CommandIDs.refresh, {
      label: 'Knative: refresh',
      execute: () => controller.refresh()
    });

    for (const command of [
      CommandIDs.openDashboard,
      CommandIDs.newServiceCell,
      CommandIDs.newYamlCell,
      CommandIDs.startPlane,
      CommandIDs.stopPlane,
      CommandIDs.refresh,
      CommandIDs.showSidebar
    ]) {
      palette?.addItem({ command, category: 'Knative' });
    }
    const menuItems = [
      CommandIDs.openUrl,
      CommandIDs.openDashboard,
      CommandIDs.showLogs,
      CommandIDs.deleteService
    ];
    menuItems.forEach((command, rank) =>
      app.contextMenu.addItem({ command, selector: '.jp-knative-service', rank })
    );

    const course = launcher ? await firstExisting(app, options.courseNotebooks) : null;
    if (launcher && course) {
      commands.addCommand(CommandIDs.openCourse, {
        label: 'Knative course',
        caption: `Open ${course}`,
        icon: knativeIcon,
        execute: () => commands.execute('docmanager:open', { path: course })
      });
      launcher.add({ command: CommandIDs.openCourse, category: 'Knative', rank: 0 });
    }

    void controller.start();
  }
};

const yamlCells: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-knative:yaml-cells',
  description: 'YAML highlighting for %%knative apply cells.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (_app: JupyterFrontEnd, tracker: INotebookTracker) => trackYamlCells(tracker)
};

export default [plugin, yamlCells];
