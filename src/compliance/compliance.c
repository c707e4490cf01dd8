/* compliance: placeholder until the module lands. */
