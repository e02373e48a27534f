// The reviewer console (issue 13): served by the API server at `/`, its UI built from
// src/console/ui by Vite, its server part mapping every request onto the operations table.
export { CONSOLE_UI_DIR, type ConsoleServices, registerConsole } from './server/plugin.ts';
