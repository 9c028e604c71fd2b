import { defineError } from '../errors.ts'

/**
 * A command did its work except for what its summary lists (put: special files it
 * cannot store); exit code 13, so a script notices without parsing the summary.
 */
export const PartialError = defineError('PartialError', 'partial')
