import NextAuth from 'next-auth';
import { authOptions } from '@/app/auth-options';

type Ctx = { params: Promise<{ nextauth: string[] }> };

export const dynamic = 'force-dynamic';

export function GET(req: Request, ctx: Ctx) {
  return NextAuth(req as never, ctx as never, authOptions());
}

export function POST(req: Request, ctx: Ctx) {
  return NextAuth(req as never, ctx as never, authOptions());
}
