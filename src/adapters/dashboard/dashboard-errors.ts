import { ConfigError, defineError, UnauthorizedError } from '../../errors.ts'

/**
 * A state-changing dashboard request that did not come from the dashboard's own page:
 * a foreign or missing Origin, a missing or wrong CSRF token, or a Host that is not
 * this loopback listener (DNS rebinding). Answered 403; nothing was done.
 */
export const ForbiddenError = defineError('ForbiddenError', 'forbidden', UnauthorizedError)
export type ForbiddenError = InstanceType<typeof ForbiddenError>

/**
 * The dashboard was asked to listen beyond loopback with no `dashboardPassword` set:
 * the daemon refuses to start rather than offer the owner's files to the LAN with the
 * API key as the only guard.
 */
export const DashboardPasswordRequiredError = defineError('DashboardPasswordRequiredError', 'dashboard-password-required', ConfigError)
export type DashboardPasswordRequiredError = InstanceType<typeof DashboardPasswordRequiredError>
