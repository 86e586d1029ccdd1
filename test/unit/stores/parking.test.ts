import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParkingStore, parkingOrder } from '../../../functions/lib/stores/parking.ts';
import { countingClient, type LocalTable, startLocalTable } from './local-table.ts';

let local: LocalTable;
let jobs = 0;

/** A job to park: made `minute` minutes into the day, by an event unless it says scan. */
const job = (destination: string, minute: number, origin: 'event' | 'scan' = 'event') => ({
  id: `job-${++jobs}`,
  attempt: 1,
  createdAt: `2025-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`,
  origin,
  destinationRegistry: destination,
  policy: 'to-b',
});

beforeAll(async () => {
  local = await startLocalTable();
});
afterAll(() => local.close());

// The same rules whether every read goes to the table (deployed) or a sole writer answers from
// the lines it keeps (the local runtime).
describe.each([
  { mode: 'reading the table', soleWriter: false },
  { mode: 'as the sole writer', soleWriter: true },
])('ParkingStore, $mode', ({ soleWriter }) => {
  let parking: ParkingStore;
  let destination: string;
  beforeAll(() => {
    parking = new ParkingStore(local.client, local.tableName, { soleWriter });
  });
  const fresh = () => {
    destination = `dc-${++jobs}`;
    return destination;
  };

  it('keeps a line per destination: events before scans, then the oldest first', async () => {
    const to = fresh();
    const backfill = job(to, 1, 'scan');
    const later = job(to, 5);
    const earlier = job(to, 3);
    for (const parked of [backfill, later, earlier, job('elsewhere', 0)]) await parking.park(parked);

    const line = await parking.oldest(to, 10);

    expect(line.map((parked) => parked.jobId)).toEqual([earlier.id, later.id, backfill.id]);
    expect(line[0]).toEqual({
      jobId: earlier.id,
      attempt: 1,
      destination: to,
      order: parkingOrder(earlier),
      policy: 'to-b',
    });
    expect((await parking.oldest(to, 2)).map((parked) => parked.jobId)).toEqual([earlier.id, later.id]);
    expect(await parking.oldest(to, 0)).toEqual([]);
  });

  it('takes a job out of line for one caller only, and puts it back at its place', async () => {
    const to = fresh();
    const [first, second] = [job(to, 1), job(to, 2)];
    await parking.park(first);
    await parking.park(second);
    const [taken] = await parking.oldest(to, 1);
    if (!taken) throw new Error('the line is empty');

    expect(await Promise.all([parking.remove(taken), parking.remove(taken)])).toEqual(
      expect.arrayContaining([true, false]),
    );
    expect((await parking.oldest(to, 10)).map((parked) => parked.jobId)).toEqual([second.id]);
    expect(await parking.has(first)).toBe(false);

    await parking.restore(taken);
    expect((await parking.oldest(to, 10)).map((parked) => parked.jobId)).toEqual([first.id, second.id]);
    expect(await parking.has(first)).toBe(true);
  });

  it('parks a job again at the same place, once', async () => {
    const to = fresh();
    const parked = job(to, 1);
    await parking.park(parked);
    await parking.park(parked);

    expect(await parking.oldest(to, 10)).toHaveLength(1);
  });

  it('answers what another store of the table parked before it first read the line', async () => {
    const to = fresh();
    const before = job(to, 1);
    await new ParkingStore(local.client, local.tableName).park(before);

    expect((await parking.oldest(to, 10)).map((parked) => parked.jobId)).toEqual([before.id]);
  });
});

describe('ParkingStore as the sole writer', () => {
  it('reads each line from the table once, then answers from the line it keeps', async () => {
    const { client, sent } = countingClient(local.client);
    const parking = new ParkingStore(client, local.tableName, { soleWriter: true });
    const to = `dc-${++jobs}`;
    const parked = [job(to, 3), job(to, 1), job(to, 2)];

    for (const each of parked) await parking.park(each);
    await parking.oldest(to, 1);
    await parking.remove({ destination: to, order: parkingOrder(parked[1] as (typeof parked)[number]) });
    const line = await parking.oldest(to, 10);

    expect(line.map((each) => each.jobId)).toEqual([parked[2]?.id, parked[0]?.id]);
    expect(sent('QueryCommand')).toBe(1);
    expect(await new ParkingStore(local.client, local.tableName).oldest(to, 10)).toEqual(line);
  });

  it('drops from its line a job another remover took out of the table', async () => {
    const parking = new ParkingStore(local.client, local.tableName, { soleWriter: true });
    const to = `dc-${++jobs}`;
    const parked = job(to, 1);
    await parking.park(parked);
    expect(await parking.oldest(to, 10)).toHaveLength(1);

    const place = { destination: to, order: parkingOrder(parked) };
    expect(await new ParkingStore(local.client, local.tableName).remove(place)).toBe(true);

    expect(await parking.remove(place)).toBe(false);
    expect(await parking.oldest(to, 10)).toEqual([]);
  });
});
