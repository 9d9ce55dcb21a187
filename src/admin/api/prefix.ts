/** Where the admin API's routes are (a module of its own: the composition root names it without loading the API). */
export const API_PREFIX = '/api/v1';
