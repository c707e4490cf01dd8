// The widget's strings in English and Spanish. The language comes from the
// script tag's data-locale, else the browser's (navigator.language); anything
// that is not Spanish gets English.

const en = {
  lang: 'en',
  open: 'Open chat',
  openUnread: (n) => `Open chat (${n} new ${n === 1 ? 'message' : 'messages'})`,
  close: 'Close chat',
  title: 'Chat',
  conversation: 'Conversation',
  message: 'Message',
  placeholder: 'Write a message…',
  hint: 'Enter sends, Shift+Enter adds a line.',
  send: 'Send',
  details: 'So we can follow up (optional):',
  name: 'Name',
  email: 'Email',
  you: 'You',
  agent: 'Agent',
  assistant: 'Assistant',
  system: 'Notice',
  sending: 'Sending…',
  notSent: 'Not sent.',
  retry: 'Retry',
  badEmail: 'Enter a valid email address, or leave it empty.',
  errToken: 'This chat is not set up correctly: the server does not know its widget token.',
  errOrigin: 'This chat is not enabled for this website (the site’s address is not on its allowed list).',
  errNetwork: 'Cannot reach the chat server. Trying again…',
  errSend: 'Your message could not be sent.',
  errTooLong: (n) => `Messages can be up to ${n} characters.`,
  rateLimited: (s) => `Too many requests. Trying again in ${s} s.`,
  reconnecting: 'Connection lost. Reconnecting…',
};

const es = {
  lang: 'es',
  open: 'Abrir el chat',
  openUnread: (n) => `Abrir el chat (${n} ${n === 1 ? 'mensaje nuevo' : 'mensajes nuevos'})`,
  close: 'Cerrar el chat',
  title: 'Chat',
  conversation: 'Conversación',
  message: 'Mensaje',
  placeholder: 'Escribe un mensaje…',
  hint: 'Intro envía, Mayús+Intro añade una línea.',
  send: 'Enviar',
  details: 'Para poder responderte (opcional):',
  name: 'Nombre',
  email: 'Correo electrónico',
  you: 'Tú',
  agent: 'Agente',
  assistant: 'Asistente',
  system: 'Aviso',
  sending: 'Enviando…',
  notSent: 'No enviado.',
  retry: 'Reintentar',
  badEmail: 'Escribe un correo electrónico válido o déjalo vacío.',
  errToken: 'Este chat no está bien configurado: el servidor no conoce su token de widget.',
  errOrigin: 'Este chat no está habilitado para este sitio web (su dirección no está en la lista permitida).',
  errNetwork: 'No se puede conectar con el servidor del chat. Reintentando…',
  errSend: 'No se ha podido enviar el mensaje.',
  errTooLong: (n) => `Los mensajes pueden tener hasta ${n} caracteres.`,
  rateLimited: (s) => `Demasiadas solicitudes. Se reintentará en ${s} s.`,
  reconnecting: 'Se ha perdido la conexión. Reconectando…',
};

/** The strings for a BCP 47 tag such as "es-MX" (English unless Spanish). */
export function strings(tag) {
  return /^es\b/i.test(String(tag || '')) ? es : en;
}
