/**
 * Whether the clock reading `since` lies less than `spanMs` before `now`. A reading after `now`
 * means the clock stepped back since it was taken (an NTP correction, a restored virtual
 * machine): how long ago it was is unknown, so it is within no span, and what it dates is stale
 * (a cached document or key set) or over (a cooldown), never young for as long as the step.
 */
export function within(now: number, since: number, spanMs: number): boolean {
  const age = now - since;
  return age >= 0 && age < spanMs;
}
