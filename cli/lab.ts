import { usageError } from './errors.js';

/** `podspan lab up|down|status`: the local lab node. */
export async function runLab(action: string): Promise<number> {
  const lab = await import('../lab/index.js');
  switch (action) {
    case 'up': {
      const info = await lab.labUp();
      process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      return 0;
    }
    case 'down':
      await lab.labDown();
      process.stdout.write('lab removed\n');
      return 0;
    case 'status':
      process.stdout.write(JSON.stringify(await lab.labStatus(), null, 2) + '\n');
      return 0;
    default:
      throw usageError(`lab: unknown action "${action}": use up, down or status`);
  }
}
