/**
 * What the extension reads from and writes into notebook cells: which cells hold YAML for the
 * `%%knative` magic, and the templates the palette commands insert. Pure.
 */

/** The MIME type JupyterLab's language registry maps to its YAML mode. */
export const YAML_MIME = 'text/x-yaml';

/** `%%knative` subcommands whose cell body is YAML (`%%knative service` takes Python). */
export const YAML_SUBCOMMANDS: ReadonlySet<string> = new Set(['apply']);

/**
 * The first line IPython treats as the cell's head: leading blank lines are skipped, as IPython's
 * input transformers skip them before looking for a cell magic.
 */
export function headLine(source: string): string {
  for (const line of source.split(/\r\n|\r|\n/)) {
    if (line.trim() !== '') {
      return line.trim();
    }
  }
  return '';
}

/** Whether a code cell's source is a `%%knative` cell magic whose body is YAML. */
export function isYamlMagic(source: string): boolean {
  const [magic, subcommand] = headLine(source).split(/\s+/);
  return magic === '%%knative' && subcommand !== undefined && YAML_SUBCOMMANDS.has(subcommand);
}

/** A name Knative accepts for a service: DNS-1035 label, at most 63 characters. */
export function isValidServiceName(name: string): boolean {
  return /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name);
}

export function serviceCellTemplate(name: string): string {
  return [
    `%%knative service ${name}`,
    'def handle(request):',
    `    return {"hello": "${name}"}`,
    ''
  ].join('\n');
}

export function yamlCellTemplate(name = 'hello'): string {
  return [
    '%%knative apply',
    'apiVersion: serving.knative.dev/v1',
    'kind: Service',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - image: ghcr.io/knative/helloworld-go',
    '          env:',
    '            - name: TARGET',
    '              value: Knative',
    ''
  ].join('\n');
}

/** Whether a notebook's cells already load the magics (`%load_ext jupyter_knative`). */
export function loadsMagics(sources: readonly string[]): boolean {
  return sources.some(source => /^\s*%(re)?load_ext\s+jupyter_knative\b/m.test(source));
}

/** The dashboard cell; it loads the magics first when the notebook does not yet. */
export function dashboardCell(name: string, magicsLoaded = true): string {
  const line = `%knative dashboard ${name}`;
  return magicsLoaded ? line : `%load_ext jupyter_knative\n${line}`;
}
