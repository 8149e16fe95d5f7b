/** The compose layer's public API: from a desired-state tree to DesiredState, and back to a compose file. */
export { loadDesiredState, loadDesiredStateSync, stackFolders, type LoadDesiredStateOptions, type StackMemo } from './load-desired-state.js';
export { loadStack, loadStackSync, type LoadStackOptions } from './load-stack.js';
export { renderStack, toComposeYaml, type RenderStackOptions } from './render.js';
export { describeStackLoadError, type ComposeErrorData } from './errors.js';
export { parseFleet, stacksForHost, policyFor, DEFAULT_POLICY, FLEET_FILE, type Fleet } from './fleet.js';
export { pinnedReference } from './lock.js';
export { isValidStackName, STACK_NAME_RE } from './safe-fs.js';
export { substitute, type Lookup } from './template.js';
export { parseDotenv } from './dotenv.js';
