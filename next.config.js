// @ts-check
/** Next.js configuration: the web manager runs inside the appliance's own HTTP server (server/main.ts). */
/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // better-sqlite3 is a native addon; server code reaches it only through the appliance accessor.
  serverExternalPackages: ['better-sqlite3'],
};
module.exports = nextConfig;
