/** Inputs of the numeric-setting tests (the client's, the app's, the CLI's). */

/** Text `Number()` takes that means something else than the decimal integer a reader sees, or nothing at all. */
export const NOT_DECIMAL_INTEGERS = [
  '0x10',
  '0o7',
  '0b1',
  '1e3',
  '1e-9',
  '+5',
  '-0',
  '٣', // ARABIC-INDIC DIGIT THREE
  '５', // FULLWIDTH DIGIT FIVE
  '5.0',
  '5.',
  '.5',
  '05',
  '1_000',
  '1,000',
  'Infinity',
  '-Infinity',
  'NaN',
  '99999999999999999999',
  '9007199254740993',
  '5 5',
];
