import {
  dashboardCell,
  headLine,
  isValidServiceName,
  isYamlMagic,
  loadsMagics,
  serviceCellTemplate,
  yamlCellTemplate
} from '../src/cells';

describe('isYamlMagic', () => {
  it.each([
    ['%%knative apply\nkind: Service', true],
    ['%%knative apply -n team-a\nkind: Service', true],
    ['\n\n%%knative apply\nkind: Service', true],
    ['  %%knative   apply', true],
    ['%%knative apply', true],
    ['%%knative service hello\ndef f(r): ...', false],
    ['%%knative\nkind: Service', false],
    ['%knative apply -f x.yaml', false],
    ['%%knativeapply', false],
    ['%%knative applyx', false],
    ['# %%knative apply', false],
    ['print(1)\n%%knative apply', false],
    ['', false]
  ])('%j → %s', (source, expected) => {
    expect(isYamlMagic(source)).toBe(expected);
  });

  it('accepts Windows line ends', () => {
    expect(isYamlMagic('%%knative apply\r\nkind: Service')).toBe(true);
  });
});

describe('headLine', () => {
  it('skips blank lines and trims', () => {
    expect(headLine('\n  \n  %%knative apply  \nx')).toBe('%%knative apply');
  });
});

describe('templates', () => {
  it('the YAML template is a YAML magic cell', () => {
    expect(isYamlMagic(yamlCellTemplate())).toBe(true);
    expect(yamlCellTemplate('web')).toContain('  name: web\n');
  });

  it('the service template heads with the service magic', () => {
    expect(serviceCellTemplate('hello').split('\n')[0]).toBe('%%knative service hello');
    expect(isYamlMagic(serviceCellTemplate('hello'))).toBe(false);
  });

  it('the dashboard cell loads the magics only when needed', () => {
    expect(dashboardCell('hello')).toBe('%knative dashboard hello');
    expect(dashboardCell('hello', false)).toBe(
      '%load_ext jupyter_knative\n%knative dashboard hello'
    );
  });

  it.each([
    [['import os', '%load_ext jupyter_knative'], true],
    [['x = 1\n  %reload_ext jupyter_knative'], true],
    [['%load_ext jupyter_knative_other'], false],
    [['# %load_ext jupyter_knative is needed'], false],
    [[], false]
  ])('loadsMagics(%j) → %s', (sources, expected) => {
    expect(loadsMagics(sources)).toBe(expected);
  });

  it.each([
    ['hello', true],
    ['hello-world2', true],
    ['Hello', false],
    ['1abc', false],
    ['abc-', false],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false]
  ])('isValidServiceName(%s) → %s', (name, expected) => {
    expect(isValidServiceName(name)).toBe(expected);
  });
});
