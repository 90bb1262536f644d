import { AuthPage } from "@/components/auth-page";

export default function SignInPage() {
  return <AuthPage mode="sign-in" />;
}
