/* messaging: placeholder until the module lands. */
