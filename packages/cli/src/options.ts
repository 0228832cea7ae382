import { isLakebaseError } from '@lakebase-kit/client';
import { parseNumber } from '@lakebase-kit/client/toolkit';
import { InvalidArgumentError } from 'commander';

/**
 * A commander argument parser for a whole number in [min, max], read by the client's one parser of numeric settings
 * (decimal digits only: no `0x`, exponent, sign, fraction or leading zero); the message names the flag's rule.
 */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value: string) => {
    try {
      return parseNumber(value, 'value', { min, max });
    } catch (error) {
      if (!isLakebaseError(error, 'LAKEBASE_CONFIG_INVALID')) throw error;
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got '${value}'.`);
    }
  };
}
