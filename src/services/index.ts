// Wires the services from their dependencies (one instance of each per app).

import type { ApiKeyAuthenticator } from '../auth/authenticator.js';
import { AdminService, type NodeDirectory } from './admin-service.js';
import { AlertService } from './alert-service.js';
import { ApiKeyService } from './api-key-service.js';
import { ChannelService } from './channel-service.js';
import type { ServiceDeps } from './deps.js';
import { parseQuotas } from '../core/quotas.js';
import { QuotaGuard } from './quota-guard.js';
import { RunService } from './run-service.js';
import { SecretService } from './secret-service.js';
import { TaskService } from './task-service.js';

/** Every service the API uses. */
export interface Services {
  tasks: TaskService;
  runs: RunService;
  apiKeys: ApiKeyService;
  admin: AdminService;
  channels: ChannelService;
  alerts: AlertService;
  secrets: SecretService;
}

/** Builds the services over one set of dependencies. */
export function createServices(deps: ServiceDeps, authenticator: ApiKeyAuthenticator, nodes: NodeDirectory): Services {
  // One guard for the API's services: the runsPerMinute buckets are this node's.
  const quotas = new QuotaGuard(parseQuotas(deps.config.quotas).quotas, deps.store);
  const tasks = new TaskService(deps, quotas);
  return {
    tasks,
    runs: new RunService(deps, tasks, quotas),
    apiKeys: new ApiKeyService(deps, authenticator),
    admin: new AdminService(deps, nodes),
    channels: new ChannelService(deps),
    alerts: new AlertService(deps),
    secrets: new SecretService(deps),
  };
}
