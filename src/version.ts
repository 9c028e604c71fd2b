import pkg from '../package.json' with { type: 'json' }

/** This implementation's version, from package.json. */
export const VERSION: string = pkg.version
