import { sql, type Kysely, type SqlBool } from 'kysely';
import type { Store } from './create-store.js';
import { ENCRYPTED_COLUMNS, secretContext, type EncryptedColumn } from './schema.js';
import type { SecretBox } from './secret-box.js';

export interface RotationProgress {
  column: string;
  reencrypted: number;
}

export interface RotationOptions {
  batchSize?: number;
  /** Called after each committed batch; throwing from it stops the run (tests use it to simulate a crash). */
  onBatch?: (p: RotationProgress) => void;
}

type Loose = Kysely<Record<string, Record<string, string | null>>>;

/**
 * Re-encrypts every stored secret that is not yet under the box's active key. Each batch commits on its
 * own and each row is written with a compare-and-set on its old ciphertext, so the run can stop at any
 * point (crash, Ctrl-C) and simply be started again: the data itself records how far it got.
 */
export async function rotateSecrets(store: Store, box: SecretBox, options: RotationOptions = {}): Promise<{ reencrypted: number }> {
  const db = store.db as unknown as Loose;
  const batchSize = options.batchSize ?? 200;
  let total = 0;
  for (const c of ENCRYPTED_COLUMNS) {
    let afterId = '';
    for (;;) {
      const rows = await db
        .selectFrom(c.table)
        .select([`${c.id} as id`, `${c.column} as value`])
        .where(c.column, 'is not', null)
        .where(sql<SqlBool>`${sql.ref(c.column)} not like ${keyPattern(box.activeKeyId)} escape '\\'`)
        .where(c.id, '>', afterId)
        .orderBy(c.id)
        .limit(batchSize)
        .execute();
      if (rows.length === 0) break;
      let done = 0;
      await db.transaction().execute(async (tx) => {
        for (const row of rows) {
          const id = row['id'] as string;
          const old = row['value'] as string;
          const fresh = box.seal(box.open(old, secretContext(c, id)), secretContext(c, id));
          const r = await tx.updateTable(c.table).set({ [c.column]: fresh }).where(c.id, '=', id).where(c.column, '=', old).executeTakeFirst();
          done += Number(r.numUpdatedRows);
        }
      });
      total += done;
      afterId = rows[rows.length - 1]?.['id'] as string;
      options.onBatch?.({ column: `${c.table}.${c.column}`, reencrypted: done });
    }
  }
  return { reencrypted: total };
}

/** How many stored secrets each key id protects, per column: what `keys status` prints. */
export async function secretsByKey(store: Store, keyIds: readonly string[]): Promise<{ column: string; keyId: string; count: number }[]> {
  const db = store.db as unknown as Loose;
  const out: { column: string; keyId: string; count: number }[] = [];
  for (const c of ENCRYPTED_COLUMNS as readonly EncryptedColumn[]) {
    let accounted = 0;
    for (const keyId of keyIds) {
      const row = await db
        .selectFrom(c.table)
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where(sql<SqlBool>`${sql.ref(c.column)} like ${keyPattern(keyId)} escape '\\'`)
        .executeTakeFirstOrThrow();
      const n = Number(row['n']);
      accounted += n;
      if (n > 0) out.push({ column: `${c.table}.${c.column}`, keyId, count: n });
    }
    const all = await db
      .selectFrom(c.table)
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where(c.column, 'is not', null)
      .executeTakeFirstOrThrow();
    const unknown = Number(all['n']) - accounted;
    if (unknown > 0) out.push({ column: `${c.table}.${c.column}`, keyId: '(unknown key)', count: unknown });
  }
  return out;
}

/**
 * Opens every stored secret with the box: the only proof that the keyring holds the right key *material*
 * (a key with the right id but other bytes passes `secretsByKey`). Returns the failures per column, each
 * with a few row ids to look at; never the values.
 */
export async function unopenableSecrets(store: Store, box: SecretBox, batchSize = 500): Promise<{ column: string; count: number; sampleIds: string[] }[]> {
  const db = store.db as unknown as Loose;
  const out: { column: string; count: number; sampleIds: string[] }[] = [];
  for (const c of ENCRYPTED_COLUMNS as readonly EncryptedColumn[]) {
    let afterId = '';
    let count = 0;
    const sampleIds: string[] = [];
    for (;;) {
      const rows = await db.selectFrom(c.table).select([`${c.id} as id`, `${c.column} as value`]).where(c.column, 'is not', null).where(c.id, '>', afterId).orderBy(c.id).limit(batchSize).execute();
      if (rows.length === 0) break;
      for (const row of rows) {
        const id = row['id'] as string;
        try {
          box.open(row['value'] as string, secretContext(c, id));
        } catch {
          count++;
          if (sampleIds.length < 5) sampleIds.push(id);
        }
      }
      afterId = rows[rows.length - 1]?.['id'] as string;
    }
    if (count > 0) out.push({ column: `${c.table}.${c.column}`, count, sampleIds });
  }
  return out;
}

/** LIKE pattern for ciphertexts under one key; `_` is legal in key ids and a LIKE wildcard, so it is escaped. */
function keyPattern(keyId: string): string {
  return `ob1.${keyId.replace(/[\\%_]/g, (ch) => `\\${ch}`)}.%`;
}
