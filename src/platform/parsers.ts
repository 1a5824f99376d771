export { parseStat, parseCmdline, parseEnvMarkers } from './linux.js';
