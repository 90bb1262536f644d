import { AuthPage } from "@/components/auth-page";

export default function SignUpPage() {
  return <AuthPage mode="sign-up" />;
}
