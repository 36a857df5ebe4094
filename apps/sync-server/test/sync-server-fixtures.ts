export { TEST_JWT_SECRET as jwtSecret, test } from '../src/testing.js';
