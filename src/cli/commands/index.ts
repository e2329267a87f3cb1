import type { Command } from '../command.js';
import { apikeysCreateCommand, apikeysListCommand, apikeysRevokeCommand } from './apikeys.js';
import { auditCommand } from './audit.js';
import { doctorCommand } from './doctor.js';
import { forgeManifestCommand } from './forge.js';
import { linksListCommand } from './links.js';
import { keysInitCommand, keysRetireCommand, keysRotateCommand, keysStatusCommand } from './keys.js';
import { migrateCommand } from './migrate.js';
import { sandboxCommand } from './sandbox.js';
import { serveCommand } from './serve.js';
import { tenantsListCommand, tenantsPurgeCommand } from './tenants.js';
import { tokenCommand } from './token.js';
import { upCommand } from './up.js';

export function allCommands(): Command[] {
  return [
    upCommand,
    serveCommand,
    sandboxCommand,
    migrateCommand,
    keysInitCommand,
    keysStatusCommand,
    keysRotateCommand,
    keysRetireCommand,
    apikeysCreateCommand,
    apikeysListCommand,
    apikeysRevokeCommand,
    tenantsListCommand,
    tenantsPurgeCommand,
    tokenCommand,
    linksListCommand,
    auditCommand,
    doctorCommand,
    forgeManifestCommand,
  ];
}
