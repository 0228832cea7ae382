import { InvalidArgumentError } from 'commander';

/** A commander argument parser for a whole number in [min, max]; the message names the flag's rule. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got '${value}'.`);
    }
    return parsed;
  };
}
