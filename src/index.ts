/** Library entry point of onbehalf. */
export { createGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { loadConfig, CONFIG_VARIABLES, type Config, type ConfigFlags } from './config.js';
export { GatewayError, ERROR_CODES, isGatewayError, type ErrorCode, type ErrorDetails } from './errors.js';
export { createClient, OnbehalfApiError, type ClientOptions, type OnbehalfClient } from './client/index.js';
export { systemClock, createManualClock, type Clock, type ManualClock } from './clock.js';
