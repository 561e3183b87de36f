import { LabIcon } from '@jupyterlab/ui-components';

/** A hexagon (Knative's shape) around a `K`; drawn for this extension. */
const KNATIVE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 1.5 21.1 6.75v10.5L12 22.5 2.9 17.25V6.75L12 1.5Zm0 2.3L4.9 7.9v8.2l7.1 4.1 7.1-4.1V7.9L12 3.8Z"/>
    <path d="M8.6 7.5h2v3.8l3.3-3.8h2.5l-3.6 4 3.8 5h-2.5l-2.7-3.7-.8.9v2.8h-2V7.5Z"/>
  </g>
</svg>`;

export const knativeIcon = new LabIcon({ name: 'jupyter-knative:knative', svgstr: KNATIVE_SVG });
