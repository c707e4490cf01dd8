/* crm: placeholder until the module lands. */
